from secrets_bridge.cli import main

main()
