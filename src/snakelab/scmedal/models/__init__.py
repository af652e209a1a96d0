"""The six scMEDAL models (spec §4) on TensorFlow/Keras; importing this package imports TensorFlow."""
