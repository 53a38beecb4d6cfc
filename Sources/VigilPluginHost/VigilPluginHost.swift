// Module VigilPluginHost: see ARCHITECTURE; filled in by its issue.
