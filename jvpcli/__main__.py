from jvpcli.cli.main import main

main()
