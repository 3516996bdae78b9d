"""The process framework and the processes that ship with procserv."""
