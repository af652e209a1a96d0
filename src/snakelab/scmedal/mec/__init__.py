"""MEC: a random forest on FE(⊕RE) latents predicting a phenotype vs a stratified chance model (spec §9).

``classify`` fits and scores one fold and writes its files; ``aggregate`` turns the folds of one MEC run into
fold tables with 95% CIs and the cross-run ``MEC_RF_summary.csv``; ``names`` holds the run name and the
leakage caveat. scikit-learn is imported inside the functions that fit.
"""
