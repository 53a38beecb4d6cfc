// Module VigilRules: see ARCHITECTURE; filled in by its issue.
