"""The thin command line: each command parses options and calls one library function."""
