"""Traffic: the AISID type and Scapy layers, traffic generators, sample traces."""
