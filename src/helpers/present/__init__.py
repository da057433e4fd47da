"""What pages show: tables and charts in one style, sentences generated from numbers, and the
headline figures on the index pages."""
