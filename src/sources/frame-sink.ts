/** What a packet source (live capture, capture file, replay) hands its frames to. */
export interface FrameSink {
  /** A new capture interface (pcapng IDB, or the pcap header); returns the sink's index for it. */
  addInterface(name: string, linkType: number): number;
  frame(linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number, ts: number, iface: number): void;
  /** pcapng interface statistics: frames dropped by the OS (kernel) and by the interface. */
  interfaceDrops?(iface: number, kernel: number | undefined, ifdrop: number | undefined): void;
}

/** What live capture hands to: a FrameSink that also takes the DNS handle's frames. */
export interface LiveSink extends FrameSink {
  /** A live interface, whose link type is known only once it is open. */
  addInterface(name: string): number;
  /** A frame of the DNS handle (port 53), learned from, not counted. */
  dnsFrame(linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number, ts: number): void;
  /** Capture on "any" sees a routed packet on two interfaces: count it once. */
  dedupeAcrossInterfaces(): void;
  /** Whether counted frames are learned from (false where a DNS handle of its own feeds dnsFrame all of port 53). */
  learnDnsInline: boolean;
  /** The DNS handle feeds dnsFrame only what the counting handle cuts; its answers may come before their questions. */
  longDnsElsewhere: boolean;
}
