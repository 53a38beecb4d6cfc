import VigilSandboxLauncher

SandboxLauncher.main(arguments: CommandLine.arguments)
