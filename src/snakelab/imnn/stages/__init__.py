"""The CLI stages of ``snakelab imnn`` (one module per rule family); each ``main(args)`` imports JAX
(and TensorFlow where needed) when it runs."""
