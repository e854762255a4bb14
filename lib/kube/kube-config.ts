/**
 * Builds the API client configuration from the `kubeconfig` setting: the pod's mounted
 * service-account credentials in a cluster, or a kubeconfig file for development.
 */
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfig: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig === 'in-cluster') kc.loadFromCluster();
  else kc.loadFromFile(kubeconfig);
  return kc;
}
