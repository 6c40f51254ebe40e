"""Built-in recurrent cells, one file each."""
