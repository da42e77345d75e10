"""Redis Streams adapter: typed producers and consumer-group consumers with reclaim and dead-lettering."""
