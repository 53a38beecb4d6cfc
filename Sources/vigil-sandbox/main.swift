print("vigil-sandbox: not yet implemented")
