from celerylint.cli import console_main

console_main()
