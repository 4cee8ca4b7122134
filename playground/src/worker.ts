/// <reference lib="webworker" />
// Runs the C programs off the page's main thread; see rpc.ts for the protocol.
import { programs } from './programs'
import { serveRuns } from './rpc'

serveRuns(self as unknown as DedicatedWorkerGlobalScope, programs)
