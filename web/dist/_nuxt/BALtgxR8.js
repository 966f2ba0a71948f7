import{a2 as o}from"./CiJvEE9a.js";function t(){return o("confirm",()=>null)}function s(n){const e=t();return e.value?.resolve(!1),new Promise(r=>{e.value={...n,resolve:r}})}export{s as c,t as u};
