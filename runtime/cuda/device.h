/* device.h: what the runtime core sees of the CUDA layer: starting it (installs rt.dev
 * when a device is present) and stopping it (results written back to the host, device
 * memory and streams released). Called by core/init.c under its life lock. */
#ifndef DAG_CUDA_DEVICE_H
#define DAG_CUDA_DEVICE_H

/* After the workers exist, before the runtime is marked running. Does nothing (and
 * leaves rt.dev NULL) without a device or with DAG_CUDA=0. */
void cuda_start(void);

/* After the drain, while the workers still exist. */
void cuda_stop(void);

#endif
