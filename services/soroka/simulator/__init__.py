"""A Binance-compatible exchange simulator: synthetic or replayed markets behind Binance's REST shapes."""
