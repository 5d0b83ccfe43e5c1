// layer driver
