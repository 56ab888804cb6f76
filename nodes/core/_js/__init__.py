"""JavaScript function bodies: an embedded QuickJS engine per function node (see docs/nodes/function.md)."""
