from driverwatch.cli import main

raise SystemExit(main())
