# bob has no linuxbrew
