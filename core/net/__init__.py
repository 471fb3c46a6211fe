"""Where Terrafind may read from: location parsing, the network gate, its HTTP client and remote filesystems."""
