from gateway.process.cli import main

main()
