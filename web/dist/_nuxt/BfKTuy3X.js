import{a2 as o}from"./B3UZoPlj.js";function t(){return o("confirm",()=>null)}function s(n){const e=t();return e.value?.resolve(!1),new Promise(r=>{e.value={...n,resolve:r}})}export{s as c,t as u};
