/** The shared benchmark helpers (see bench/lib/README.md for the rules they implement). */
export { median, medianRound, percentile, highestWithinBound } from './stats.js';
export { sampleCpu, loadBetween, startLoadMonitor, formatLoad, type CpuSample, type LoadWindow, type LoadSummary, type LoadMonitor } from './load.js';
export { ROOT, machineInfo, machineHeader, packageVersion, toolVersion, commandLine, type MachineInfo } from './machine.js';
export { RESULTS_FILE, fmt, mdTable, writeResultsSection } from './markdown.js';
