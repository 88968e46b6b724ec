from agents.latency.cli import main

raise SystemExit(main())
