// What the engine needs from whoever knows the owners of this host's flows: the engine counts per
// workload number and asks a flow's number per packet; who answers (sockets, pods) is attribution's.
import type { FlowView } from './flow-view.js';

/** Number of the workload of bytes nobody could be found for (socket gone, no permission). */
export const UNKNOWN_WORKLOAD = 0;
/** Number every workload past the table's cap shares. */
export const OTHER_WORKLOAD = 1;
/** A flow's answer while its owner is still being looked up: its bytes are held by the answerer. */
export const PENDING = -1;

export interface FlowOwners {
  /**
   * The workload number of a packet's flow, PENDING (the answerer holds the bytes until it knows), or
   * another negative number when the flow cannot be kept (counted as unknown). `cost`: what the
   * packet's bytes cost on their bill lines, held with them.
   */
  seePacket(f: FlowView, egress: boolean, dir: number, cat: number, cost: number, now: number): number;
}
