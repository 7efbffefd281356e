import { gemmNT, gemmVariant } from '../src/accel/gemm';
console.log('variant', gemmVariant());
const m=583,k=4096,n=11008;
const X=Float32Array.from({length:m*k},()=>Math.random()-0.5), W=Float32Array.from({length:n*k},()=>Math.random()-0.5), Y=new Float32Array(m*n);
for (let r=0;r<3;r++) for (const variant of ['fma','mul+add'] as const) { const t=performance.now(); gemmNT(m,n,k,X,W,Y,{variant}); const s=(performance.now()-t)/1000; console.log(variant, (2*m*n*k/s/1e9).toFixed(1),'GFLOP/s'); }
