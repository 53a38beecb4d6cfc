// Module VigilPluginKit: see ARCHITECTURE; filled in by its issue.
