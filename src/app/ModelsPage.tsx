// The Models page: load a model (Hub, folder, URL) with its cache and ONNX check, try it
// (Generate, one layer's attention), and the WebGPU adapter with the kernel self-check.
import { ModelPanel } from './ModelPanel.tsx';
import { GeneratePanel } from './GeneratePanel.tsx';
import { AttentionPanel } from './AttentionPanel.tsx';
import { AdapterPanel, SelfCheckPanel } from './SystemPanels.tsx';

export function ModelsPage() {
  return (
    <>
      <ModelPanel />
      <GeneratePanel />
      <AttentionPanel />
      <AdapterPanel />
      <SelfCheckPanel />
    </>
  );
}
