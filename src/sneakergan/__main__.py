from sneakergan.cli import main

raise SystemExit(main())
