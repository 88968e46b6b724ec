from agents.detcom.cli import main

raise SystemExit(main())
