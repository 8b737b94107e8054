/** A long-running command: stop it (SIGTERM, SIGINT), reload its web configuration (SIGHUP). */
export interface Running {
  stop(): Promise<void>;
  reload(): void;
}
