print("ictl: not yet")
