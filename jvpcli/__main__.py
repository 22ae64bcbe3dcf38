from jvpcli.cli.commands import main

main()
