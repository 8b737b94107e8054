{
  "targets": [
    {
      "target_name": "aztraffic_netlink",
      "sources": ["netlink.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
