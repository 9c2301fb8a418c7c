"""What the user looks at, without a UI: the store, filters, exposure and selection."""
