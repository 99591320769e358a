"""The ``mi-run`` command line: argument parsing (:mod:`.main`), one function per subcommand
(:mod:`.commands`), and the one-off ``mi-run step`` (:mod:`.oneoff`)."""
