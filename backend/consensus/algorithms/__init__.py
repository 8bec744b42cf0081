"""Pure consensus algorithms: plain data in, plain data out, no Django."""
