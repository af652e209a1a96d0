"""One module per CLI stage: ``main(args)`` reads the files named on the command line, calls the
library, and writes its outputs atomically. See the table in :mod:`snakelab.batchie.commands`."""
