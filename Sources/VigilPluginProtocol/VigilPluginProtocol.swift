// Module VigilPluginProtocol: see ARCHITECTURE; filled in by its issue.
