/** What a packet source (live capture, capture file, replay) hands its frames to. */
export interface FrameSink {
  /** A new capture interface (pcapng IDB, or the pcap header); returns the sink's index for it. */
  addInterface(name: string, linkType: number): number;
  frame(linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number, ts: number, iface: number): void;
  /** pcapng interface statistics: frames dropped by the OS (kernel) and by the interface. */
  interfaceDrops?(iface: number, kernel: number | undefined, ifdrop: number | undefined): void;
}
