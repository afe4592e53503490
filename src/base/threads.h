/* Thread count for OpenMP loops; OpenBLAS is kept single-threaded because
 * musrec parallelises above it (one sgemm per OpenMP worker). */
#ifndef MR_THREADS_H
#define MR_THREADS_H

/* n <= 0 means all cores. Returns the count in effect. */
int mr_threads_set(int n);
int mr_threads_get(void);

#endif
