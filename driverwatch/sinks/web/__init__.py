"""The local live page (`[web]`): see server.py. Imported only when the page is on."""
