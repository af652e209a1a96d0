"""DaCapo-style volumetric segmentation: tasks, U-Net training, validation, blockwise prediction."""
