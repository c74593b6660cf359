"""Static files of the ops console (a package so that installs ship them)."""
