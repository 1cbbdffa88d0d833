from interp_skills.cli import main

main()
