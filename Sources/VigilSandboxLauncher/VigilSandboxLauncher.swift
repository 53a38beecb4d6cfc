// Module VigilSandboxLauncher: see ARCHITECTURE; filled in by its issue.
