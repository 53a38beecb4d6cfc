import VigilCLI

VigilCommand.main()
